# shell_redirect: redirections inside subshells (the child leaves by _exit), saved and restored
# fds (dup2 onto a managed fd), exec'd redirections, in dash and bash.
O=$1
dash -c '(echo out) > "$1/sub"; (echo a; (echo b)) > "$1/nested"' sh "$O"
dash -c 'exec 5>&1 1>"$1/saved"; echo one; echo two; exec 1>&5 5>&-; echo back' sh "$O"
bash -c 'exec 3>"$1/fd3"; echo x >&3; ( echo y >&3 ); exec 3>&-; { echo p; echo q; } >> "$1/app"' sh "$O"
bash -c 'for i in 1 2 3; do echo "$i" > "$O/loop$i" & done; wait' O="$O" sh
bash -c 'for i in 1 2 3; do (echo "$i" > "$1/bg$i") & done; wait' sh "$O"
echo "h" | tee "$O/tee" > /dev/null
cat "$O/sub" "$O/nested" "$O/saved" "$O/fd3" "$O/app" "$O/tee"
