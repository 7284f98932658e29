#!/usr/bin/python3
# stage_compare.py - compare two trees completely for the staging tests: names (as bytes), types,
# modes, owners, sizes, contents, symlink targets, link counts and hard-link groups, mtimes (and
# atimes of files as saved before the copy read them), user xattrs, sparseness. Prints every
# difference; exit 1 if any.
# usage: stage_compare.py [--skip-sockets] [--atimes=FILE] SRC DST
#        stage_compare.py --save-atimes=FILE SRC    (the source's atimes, before the copy)
import hashlib, os, pickle, stat, sys

def walk(root, skip_sockets):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            if skip_sockets and (stat.S_ISSOCK(st.st_mode) or stat.S_ISCHR(st.st_mode) or
                                 stat.S_ISBLK(st.st_mode)):
                continue
            out[os.path.relpath(p, root)] = (p, st)
    out[b'.'] = (root, os.lstat(root))
    return out

def content(p):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()

def xattrs(p, st):
    if stat.S_ISLNK(st.st_mode) or not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return {}
    return {k: os.getxattr(p, k) for k in os.listxattr(p) if k.startswith('user.')}

def diff_one(name, a, b, atime, errs):
    (pa, sa), (pb, sb) = a, b
    def bad(what, x, y):
        errs.append('%r: %s differs: %r vs %r' % (name, what, x, y))
    for what, f in (('type', lambda s: stat.S_IFMT(s.st_mode)), ('mode', lambda s: s.st_mode & 0o7777),
                    ('uid', lambda s: s.st_uid), ('gid', lambda s: s.st_gid),
                    ('nlink', lambda s: s.st_nlink if not stat.S_ISDIR(s.st_mode) else 0),
                    ('mtime', lambda s: s.st_mtime_ns)):
        if stat.S_ISLNK(sa.st_mode) and what == 'mode':
            continue
        if f(sa) != f(sb):
            bad(what, f(sa), f(sb))
    if atime and stat.S_ISREG(sa.st_mode) and atime.get(name) != sb.st_atime_ns:
        bad('atime', atime.get(name), sb.st_atime_ns)
    if stat.S_ISLNK(sa.st_mode) and os.readlink(pa) != os.readlink(pb):
        bad('link target', os.readlink(pa), os.readlink(pb))
    if stat.S_ISREG(sa.st_mode) and stat.S_ISREG(sb.st_mode):
        if sa.st_size != sb.st_size:
            bad('size', sa.st_size, sb.st_size)
        elif content(pa) != content(pb):
            bad('content', 'src', 'dst')
        if sb.st_blocks > sa.st_blocks + 16:  # a sparse source stays sparse
            bad('allocated blocks', sa.st_blocks, sb.st_blocks)
    if xattrs(pa, sa) != xattrs(pb, sb):
        bad('user xattrs', xattrs(pa, sa), xattrs(pb, sb))

def groups(tree):
    g = {}
    for n, (p, st) in tree.items():
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            g.setdefault(st.st_ino, set()).add(n)
    return sorted(sorted(s) for s in g.values())

def main():
    args = sys.argv[1:]
    skip = '--skip-sockets' in args
    opt = dict(a[2:].split('=', 1) for a in args if a.startswith('--') and '=' in a)
    paths = [os.fsencode(a) for a in args if not a.startswith('--')]
    if 'save-atimes' in opt:
        t = walk(paths[0], skip)
        pickle.dump({n: st.st_atime_ns for n, (p, st) in t.items()}, open(opt['save-atimes'], 'wb'))
        return
    atime = pickle.load(open(opt['atimes'], 'rb')) if 'atimes' in opt else None
    src, dst = paths
    a, b = walk(src, skip), walk(dst, skip)
    errs = ['only in %s: %r' % (w, n) for w, t, o in (('src', a, b), ('dst', b, a))
            for n in sorted(t) if n not in o]
    for n in sorted(set(a) & set(b)):
        diff_one(n, a[n], b[n], atime, errs)
    if groups(a) != groups(b):
        errs.append('hard-link groups differ: %r vs %r' % (groups(a), groups(b)))
    for e in errs[:50]:
        print(e)
    if errs:
        print('%d differences' % len(errs))
    sys.exit(1 if errs else 0)

main()
