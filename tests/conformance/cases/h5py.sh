# h5py: an HDF5 file written through h5py (libhdf5): groups, attributes, a contiguous and a
# chunked compressed dataset, a resizable dataset extended in a second session (mode "a"), a
# dataset deleted; then read back in a third session; an external link to a second file.
O=$1
/usr/bin/python3 - "$O" <<'PY'
import sys
import h5py
import numpy as np
o = sys.argv[1]
with h5py.File(o + "/data.h5", "w") as f:
    f.attrs["title"] = "conformance"
    g = f.create_group("run/0")
    g.create_dataset("grid", data=np.arange(4096, dtype="f8").reshape(64, 64), track_times=False)
    g.create_dataset("packed", data=np.arange(100000, dtype="i4") % 97, chunks=(4096,),
                     compression="gzip", shuffle=True, track_times=False)
    g.create_dataset("series", shape=(10,), maxshape=(None,), chunks=(16,), dtype="i8",
                     data=np.arange(10), track_times=False)
    f.create_dataset("scratch", data=np.zeros(1000), track_times=False)
with h5py.File(o + "/other.h5", "w") as f:
    f["values"] = np.linspace(0, 1, 11)
with h5py.File(o + "/data.h5", "a") as f:
    s = f["run/0/series"]
    s.resize((1000,))
    s[10:] = np.arange(10, 1000) * 3
    del f["scratch"]
    f["ext"] = h5py.ExternalLink("other.h5", "/values")
    f["run/0/grid"].attrs["units"] = "m"
with h5py.File(o + "/data.h5", "r") as f:
    g = f["run/0"]
    print(f.attrs["title"], sorted(f.keys()), sorted(g.keys()))
    print(float(g["grid"][()].sum()), int(g["packed"][()].sum()), g["series"].shape,
          int(g["series"][()].sum()), g["grid"].attrs["units"], list(f["ext"][()][:3]))
PY
