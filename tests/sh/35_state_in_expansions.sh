# Expansions that read or change the shell's state outside simple commands:
# a here-document's body, a case word and its patterns, the redirections of a
# compound command, $? in a subshell, a pipeline or a command substitution.
cat <<EOF
${x:=from-heredoc} $((n += 2))
EOF
echo "x=$x n=$n"
case ${y:=word} in ${z:=word}) echo "matched";; esac
echo "y=$y z=$z"
{ echo grouped; } > ${f:=group.out}
( echo sub ) > ${g:=sub.out}
echo "f=$f g=$g"
false
case $? in 1) echo "case saw 1";; *) echo "case saw other";; esac
false
(echo "subshell saw $?")
false
echo "pipeline saw $?" | cat
false
echo "substitution saw $(echo $?)"
false
cat <<EOF
here-document saw $?
EOF
