# shell_concurrent: job-script habits with several processes at once: 8 background appenders
# to one log (O_APPEND, no lock), xargs -P writers of separate files, a here-document, exec 3>>
# shared by subshells, umask, chmod -R, a file replaced by mv while a reader holds it open.
# (the order of the appenders' lines is the scheduler's: the log is compared sorted, in the output)
# conform: ignore ^log$
O=$1
cd "$O" || exit 1
for i in 1 2 3 4 5 6 7 8; do (for k in 1 2 3 4 5; do echo "w$i l$k" >>log; done) & done
wait
sort log | md5sum; wc -l <log
seq 1 12 | xargs -P 4 -I{} sh -c 'seq 1 {} > out.{}'
cat out.* | wc -l
exec 3>>shared
(echo a >&3); (echo b >&3); echo c >&3
exec 3>&-
cat shared
cat >doc <<'EOF'
line one
line two
EOF
wc -l <doc
umask 027; mkdir -p sub/deep; echo x >sub/deep/f; umask 022
chmod -R g-rx,o+r sub
echo old >victim
exec 4<victim
echo new >victim.tmp && mv victim.tmp victim
cat <&4; exec 4<&-
cat victim
