"""Readers for fact sheets in PDF, DOCX, HTML and Markdown: file bytes -> `Part`s, plus the
images the document holds (`posts.formats.images.Read`).

Each reader is a pure function of the file's bytes (the libraries parse from memory; nothing is
read from disk or configured), so these live with the rest of the text pipeline in `posts/`,
and `posts.factsheet.parse_structured` turns their parts into the same `FactSheet` that a plain
text file gives. Choosing a reader from the file's name and first bytes is the caller's job
(`scheduler.importing.read_document`).

Every reader raises only `posts.text.DocumentError` subclasses, with a one-line message that
names the file and says what to do: a damaged or encrypted file is `UnreadableDocument`, a
file without any text (a scanned PDF) is `NoUsableText`.
"""
