# Builds factsheet.docx: an ordinary Word file whose word/document.xml was given a DTD that
# declares an external entity, used in the text ("The host is [&x;]"). Word never writes a DTD;
# a parser that leaves entities unresolved would cut the paragraph at "[".
import io
import zipfile

from docx import Document

d = Document()
d.add_paragraph('Harbour Task Force', style='Title')
d.add_heading('Operations', level=1)
d.add_paragraph('The host is [ENTITY] and more text follows here.')
buffer = io.BytesIO()
d.save(buffer)
source = zipfile.ZipFile(buffer)
with zipfile.ZipFile('factsheet.docx', 'w', zipfile.ZIP_DEFLATED) as target:
    for info in source.infolist():
        data = source.read(info)
        if info.filename == 'word/document.xml':
            data = data.replace(b'ENTITY', b'&x;').replace(
                b'?>', b'?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/hostname">]>', 1)
        target.writestr(info, data)
