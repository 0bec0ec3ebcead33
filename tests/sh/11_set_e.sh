# set -e stops at the first failure outside a condition.
set -e
echo start > out.txt
if false; then echo no; fi
false || echo "or is fine"
false && echo no
echo middle >> out.txt
grep -q nothing out.txt
echo "never here" >> out.txt
