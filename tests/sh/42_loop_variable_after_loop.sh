# A command after a loop that reads the loop's variable waits for the loop's
# end, however it names it: ${#v}, or v inside an arithmetic expansion.
a=1
b=333
sleep 0.3
for v in $a $b; do :; done
echo "len ${#v}"
echo "arith $((v * 2))"
echo "plain $v ${v%3}"
