# Output to stderr, and both streams from one command, in order.
echo "to stdout"
echo "to stderr" >&2
sh -c 'echo out1; echo err1 >&2; echo out2'
ls /nonexistent-dir-jx 2>&1
echo done >&2
