# Builds factsheet.docx: a section whose second paragraph is an "alternative format chunk"
# (w:altChunk): an HTML part that Word shows as body text in its place, as document-assembly
# programs write it; then one in RTF, which factpost does not read and must say so.
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn


def chunk(d, name, content_type, blob):
    part = Part(PackURI(f'/word/{name}'), content_type, blob, d.part.package)
    element = OxmlElement('w:altChunk')
    element.set(qn('r:id'), d.part.relate_to(part, RT.A_F_CHUNK))
    d.element.body[-1].addprevious(element)


d = Document()
d.add_paragraph('Harbour Task Force', style='Title')
d.add_heading('Convoys', level=1)
d.add_paragraph('The task force escorted merchant ships through the strait every day.')
chunk(d, 'afchunk1.html', 'text/html',
      '<html><body><p>In November alone it escorted <b>1,250</b> merchant vessels, '
      'a record.</p><h1>Fuel</h1><p>Twelve fuel barges supplied the fleet.</p></body></html>'
      .encode())
chunk(d, 'afchunk2.rtf', 'application/rtf', rb'{\rtf1\ansi Crews rest every fourth day.\par}')
d.save('factsheet.docx')
