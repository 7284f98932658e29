# python_libs: Python library habits on the job's files: compileall, pickle, shelve (dbm),
# logging's RotatingFileHandler (renames), tarfile and shutil.unpack_archive, numpy save/load,
# memmap and savez_compressed, scandir. (Byte code and shelve files hold times and hash order.)
# conform: ignore ^shelf\.db$|__pycache__|^t\.tgz$
O=$1
cd "$O" || exit 1
/usr/bin/python3 - "$O" <<'PY'
import compileall, dbm, glob, logging, logging.handlers, os, pickle, shelve, shutil, sys, tarfile
import numpy as np
o = sys.argv[1]
os.makedirs("pkg/sub", exist_ok=True)
for i in range(3):
    open("pkg/sub/m%d.py" % i, "w").write("X = %d\n" % i)
print(compileall.compile_dir("pkg", quiet=1), sorted(glob.glob("pkg/**/*.pyc", recursive=True)))
pickle.dump({"a": list(range(10))}, open("p.pkl", "wb"))
print(pickle.load(open("p.pkl", "rb")))
with shelve.open("shelf") as s:
    s["k"] = [1, 2, 3]
with shelve.open("shelf") as s:
    print(s["k"])
log = logging.getLogger("t")
h = logging.handlers.RotatingFileHandler("app.log", maxBytes=200, backupCount=2)
h.setFormatter(logging.Formatter("%(message)s"))
log.addHandler(h)
log.setLevel(logging.INFO)
for i in range(40):
    log.info("line %03d of the log", i)
h.close()
print(sorted(glob.glob("app.log*")), open("app.log").read().splitlines()[-1])
with tarfile.open("t.tgz", "w:gz") as t:
    t.add("pkg", filter=lambda ti: (setattr(ti, "mtime", 0) or ti))
print(sorted(tarfile.open("t.tgz").getnames()))
shutil.unpack_archive("t.tgz", "unpacked")
a = np.arange(1000.0)
np.save("a.npy", a)
print(float(np.load("a.npy").sum()))
m = np.memmap("mm.dat", dtype="f8", mode="w+", shape=(512,))
m[:] = 2.0
m.flush()
del m
print(float(np.memmap("mm.dat", dtype="f8", mode="r").sum()))
np.savez_compressed("z.npz", a=a)
print(sorted(np.load("z.npz").files))
print(sorted(e.name for e in os.scandir(".")))
PY
