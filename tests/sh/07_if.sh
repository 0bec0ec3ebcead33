# if / elif / else, nested, with files as conditions.
echo x > present
if [ -f present ]; then
  echo "present exists"
fi
if [ -f absent ]; then
  echo "absent exists"
elif [ -f present ]; then
  echo "elif taken"
else
  echo "else taken"
fi
if false; then echo no; else echo "else: $?"; fi
if grep -q x present; then
  if [ -s present ]; then echo nested > nested.txt; fi
fi
cat nested.txt
if false; then :; fi
echo "after empty if: $?"
