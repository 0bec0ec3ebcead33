# Here-documents: plain, quoted, with tabs stripped, two on one line.
name=doc
cat <<EOT > h1.txt
hello $name
  indented
EOT
cat <<'EOT'
no $expansion here
EOT
cat <<-EOT
	tab stripped
	EOT
cat <<A; cat <<B
first
A
second
B
wc -l < h1.txt
