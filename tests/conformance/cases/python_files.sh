# python_files: tempfile, shutil, zipfile, os.replace and mmap writes from Python.
O=$1
/usr/bin/python3 - "$O" <<'PY'
import mmap, os, shutil, sys, tempfile, zipfile
o = sys.argv[1]
with tempfile.NamedTemporaryFile("w", dir=o, delete=False) as t:
    t.write("temp\n")
os.replace(t.name, os.path.join(o, "replaced"))
d = tempfile.mkdtemp(dir=o)
open(os.path.join(d, "in"), "w").write("x")
shutil.copytree(d, os.path.join(o, "tree"))
shutil.rmtree(d)
with zipfile.ZipFile(os.path.join(o, "z.zip"), "w") as z:
    z.writestr(zipfile.ZipInfo("a.txt", (2020, 1, 2, 3, 4, 6)), "zipped")  # no clock in the bytes
print(zipfile.ZipFile(os.path.join(o, "z.zip")).read("a.txt").decode())
p = os.path.join(o, "mapped")
with open(p, "wb") as f:
    f.write(b"\0" * 4096)
with open(p, "r+b") as f:
    m = mmap.mmap(f.fileno(), 4096)
    m[0:5] = b"hello"
    m.close()
print(open(p, "rb").read(5).decode(), sorted(os.listdir(o)))
PY
