# job_scripts: programs written by the job and run from its tree: a bash script with a shebang
# run as ./, through PATH and by `source`; a Python script with `#!/usr/bin/env python3`; a
# package imported through PYTHONPATH and run with -m; awk writing one file per key; a script
# rewritten while a copy of it runs.
O=$1
cd "$O" || exit 1
mkdir -p bin lib/tools
printf '#!/bin/bash\necho "run as $0 with $#"\nexit 3\n' >bin/job.sh
chmod +x bin/job.sh
./bin/job.sh a b; echo "status $?"
PATH=$O/bin:$PATH job.sh x; echo "status $?"
printf 'VAR=sourced\nfn() { echo "fn $1"; }\n' >lib/env.sh
. ./lib/env.sh && echo "$VAR" && fn 1
printf '#!/usr/bin/env python3\nimport sys\nprint("py", sys.argv[1:])\n' >bin/tool.py
chmod 755 bin/tool.py
./bin/tool.py 1 2
printf '' >lib/tools/__init__.py
printf 'def main():\n    print("tools main")\nif __name__ == "__main__":\n    main()\n' >lib/tools/__main__.py
PYTHONPATH=$O/lib /usr/bin/python3 -B -m tools
PYTHONPATH=$O/lib /usr/bin/python3 -B -c 'import tools, os; print(os.path.relpath(tools.__file__))'
printf 'a 1\nb 2\na 3\nc 4\n' | awk '{print $2 > ("key." $1)}'
cat key.a key.b key.c
printf '#!/bin/sh\nsleep 0.3\necho first version\n' >bin/swap.sh
chmod +x bin/swap.sh
./bin/swap.sh & pid=$!
sleep 0.1
printf '#!/bin/sh\necho second version\n' >bin/swap.sh.new && mv bin/swap.sh.new bin/swap.sh
chmod +x bin/swap.sh
wait $pid; ./bin/swap.sh
