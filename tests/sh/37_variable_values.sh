# Values and names the state dump must carry as they are: a name that starts
# like jx's own, a value holding the byte jx used to end a section (\036).
__jx_mine=kept
x=$(printf 'a\n\036\nb')
export x
y=after
echo "$__jx_mine $y"
printf '%s' "$x" | od -An -c
