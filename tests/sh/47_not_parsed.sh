# A case inside $(...) over lines: jx's parser ends the substitution at the
# pattern's ')', so it fails two lines later; sh reads it all. The whole
# script then runs as one sh.
echo start
x=$(case a in
a) echo yes
;; esac)
echo "x=$x"
