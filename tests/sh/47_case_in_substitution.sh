# A case inside $(...) over lines, and a comment: the substitution ends where
# its commands do, not at a pattern's ')'.
echo start
x=$(case a in
a) echo yes
;; esac)
echo "x=$x"
y=$(echo a # a comment with )
echo b)
echo "y=$y $(( $(case c in c) echo 1;; esac) + 1 ))"
