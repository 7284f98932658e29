# python_io.py - stdio, os.replace, json and shutil.copytree on DIR; prints what it read back.
import hashlib
import json
import os
import shutil
import sys

d = sys.argv[1]
p = lambda *n: os.path.join(d, *n)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


# text and binary stdio
with open(p("text.txt"), "w") as f:
    for i in range(2000):
        print(f"line {i} " + "x" * (i % 50), file=f)
with open(p("text.txt")) as f:
    lines = f.readlines()
print("text lines", len(lines), lines[1999].strip()[:20])
with open(p("bin.dat"), "wb") as f:
    f.write(bytes(range(256)) * 1000)
    f.seek(100)
    f.write(b"PATCH")
    f.seek(0, os.SEEK_END)
    f.write(b"TAIL")
with open(p("bin.dat"), "r+b") as f:
    f.seek(-4, os.SEEK_END)
    print("tail", f.read())
    f.seek(100)
    print("patch", f.read(5))
    f.truncate(200000)
print("bin size", os.path.getsize(p("bin.dat")), digest(p("bin.dat")))
with open(p("text.txt"), "a") as f:
    f.write("appended\n")

# atomic replace over a file that existed before the job (config.json), and over a new one
old = json.load(open(p("config.json")))
new = dict(old, version=old["version"] + 1, items=list(range(100)))
with open(p("config.json.tmp"), "w") as f:
    json.dump(new, f, indent=1, sort_keys=True)
    f.flush()
    os.fsync(f.fileno())
os.replace(p("config.json.tmp"), p("config.json"))
print("replaced", json.load(open(p("config.json")))["version"], os.path.exists(p("config.json.tmp")))
for i in range(3):  # checkpoint rotation pattern
    with open(p("ckpt.tmp"), "w") as f:
        json.dump({"step": i}, f)
    os.replace(p("ckpt.tmp"), p("ckpt.json"))
print("ckpt", json.load(open(p("ckpt.json"))))

# trees: copy what the job wrote and what was on the PFS
os.makedirs(p("made", "deep", "er"), exist_ok=True)
for i in range(20):
    with open(p("made", "deep", f"n{i}.txt"), "w") as f:
        f.write(str(i) * (i * 100))
os.chmod(p("made", "deep", "n3.txt"), 0o600)
shutil.copytree(p("made"), p("made_copy"))
shutil.copytree(p("pre"), p("pre_copy"))
shutil.rmtree(p("made", "deep", "er"))
os.remove(p("pre", "remove_me.txt"))
for root in ("made", "made_copy", "pre", "pre_copy"):
    for dirpath, dirs, files in sorted(os.walk(p(root))):
        rel = os.path.relpath(dirpath, d)
        print("walk", rel, sorted(dirs), sorted(files))
st = os.stat(p("made_copy", "deep", "n3.txt"))
print("copied mode", oct(st.st_mode & 0o7777), "size", st.st_size)
print("listdir", sorted(os.listdir(d)))
print("exists", os.path.exists(p("pre", "remove_me.txt")), os.path.isdir(p("made_copy", "deep")))
