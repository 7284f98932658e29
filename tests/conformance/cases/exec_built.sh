# exec_built: programs and libraries written in the job are executed and loaded (the kernel and
# the dynamic loader open them themselves).
O=$1
cp /bin/true "$O/t" && "$O/t" && echo "ran a copied binary"
cat > "$O/lib.c" <<'C'
int answer(void) { return 42; }
C
cat > "$O/main.c" <<'C'
#include <stdio.h>
int answer(void);
int main(void) { printf("answer %d\n", answer()); return 0; }
C
gcc -shared -fPIC -o "$O/libanswer.so" "$O/lib.c"
gcc -o "$O/main" "$O/main.c" -L"$O" -lanswer
LD_LIBRARY_PATH=$O "$O/main"
cat > "$O/script.sh" <<'S'
#!/bin/sh
echo "a script written in the job"
S
chmod +x "$O/script.sh" && "$O/script.sh"
python3 -c "import ctypes,sys; print('dlopen', ctypes.CDLL(sys.argv[1]).answer())" "$O/libanswer.so"
