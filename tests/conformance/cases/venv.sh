# venv: `python3 -m venv` with pip (ensurepip, offline), the venv's python and pip, a wheel with a
# console script installed into it without the network (pip writes the script, RECORD, the
# byte code), the script run, `activate` in the shell, the wheel uninstalled; then the venv made
# again with --clear --without-pip over the old one.
# conform: ignore __pycache__
O=$1 F=$2
PY=/usr/bin/python3
$PY -m venv "$O/env" || exit 1
"$O/env/bin/python" -c 'import sys; print(sys.prefix, sys.base_prefix, sys.executable)'
"$O/env/bin/pip" --version | cut -d' ' -f1-2
$PY - "$F/hello-1.0-py3-none-any.whl" <<'PYW'
import base64, hashlib, sys, zipfile
files = {
    "hello/__init__.py": "def main():\n    print('hello from', __file__)\n",
    "hello-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: hello\nVersion: 1.0\n",
    "hello-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: conform\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    "hello-1.0.dist-info/entry_points.txt": "[console_scripts]\nhello = hello:main\n",
}
def rec(name, data):
    h = base64.urlsafe_b64encode(hashlib.sha256(data.encode()).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, h, len(data))
record = "".join(rec(n, d) + "\n" for n, d in files.items()) + "hello-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for n, d in list(files.items()) + [("hello-1.0.dist-info/RECORD", record)]:
        z.writestr(zipfile.ZipInfo(n, (2020, 1, 2, 3, 4, 6)), d)
PYW
"$O/env/bin/pip" install --no-index --disable-pip-version-check -q "$F/hello-1.0-py3-none-any.whl" \
    >"$F/pip.log" 2>&1 || { cat "$F/pip.log"; exit 1; }
"$O/env/bin/hello"
"$O/env/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | awk 'NR > 2 {print $1}'
. "$O/env/bin/activate" && python -c 'import hello; hello.main()' && deactivate
"$O/env/bin/pip" uninstall -y -q hello && "$O/env/bin/python" -c 'import hello' 2>&1 | tail -1
$PY -m venv --clear --without-pip "$O/env" && ls "$O/env/lib/python3.11/site-packages" | wc -l
