# A backslash-newline inside a keyword or an assignment: sh reads the word
# without it (i\<newline>f is if, x\<newline>=1 assigns x).
x\
=1
echo "x=$x"
fo\
r i in a b; do echo $i; done
i\
f true; then echo continued-if; fi
