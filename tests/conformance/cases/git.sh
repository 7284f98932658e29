# git: init, commit, branch, gc and fsck of a repository in the job's tree, then clone it.
# conform: ignore (^|/)\.git/index$
O=$1
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@x GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@x
export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
export HOME=$2 GIT_CONFIG_NOSYSTEM=1
git init -q -b main "$O/repo"
cd "$O/repo"
for i in 1 2 3; do echo "line $i" >> file; git add file; git commit -qm "c$i"; done
git checkout -qb side && echo s > side && git add side && git commit -qm side && git checkout -q main
git gc -q && git fsck --strict 2>&1
git log --oneline --all | sort
git clone -q "$O/repo" "$O/clone" && git -C "$O/clone" log --oneline | wc -l
git status --porcelain
