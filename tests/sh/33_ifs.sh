# With IFS changed, an unquoted variable splits on its characters.
f=a.txt:b.txt
IFS=:
echo one > $f
for x in $f; do echo "$x" >> list.txt; done
IFS=' '
echo two > a.txt
cat a.txt b.txt list.txt
