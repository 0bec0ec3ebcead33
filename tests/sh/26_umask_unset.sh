# umask, unset and export -n style changes carry to later commands.
umask 077
echo secret > private.txt
ls -l private.txt | cut -c1-10
umask 022
echo public > public.txt
ls -l public.txt | cut -c1-10
export GONE=1
unset GONE
sh -c 'echo "GONE=[${GONE-unset}]"'
x=1
unset x
echo "x=[${x-unset}]"
