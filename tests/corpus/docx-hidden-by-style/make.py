# Builds factsheet.docx: text Word does not show because its STYLE hides it (a paragraph style
# with w:vanish, a character style based on a hidden one), not direct formatting; a paragraph
# mark deleted with Track Changes on (Word shows the two paragraphs joined once accepted); and a
# phonetic guide (w:ruby), whose base text is the text.
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

d = Document()
hidden_para = d.styles.add_style('Internal Note', WD_STYLE_TYPE.PARAGRAPH)
hidden_para.element.get_or_add_rPr().append(parse_xml(f'<w:vanish {nsdecls("w")}/>'))
hidden_char = d.styles.add_style('Draft Figure', WD_STYLE_TYPE.CHARACTER)
hidden_char.element.get_or_add_rPr().append(parse_xml(f'<w:vanish {nsdecls("w")}/>'))
pending = d.styles.add_style('Pending Figure', WD_STYLE_TYPE.CHARACTER)
pending.base_style = hidden_char
d.add_paragraph('Harbour Task Force', style='Title')
d.add_heading('Operations', level=1)
p = d.add_paragraph('The task force escorted 1,250 merchant vessels')
p.add_run(' (draft: 1,400)', style='Draft Figure')
p.add_run(' through the strait last year.')
d.add_paragraph('INTERNAL NOTE: figures not yet cleared by the minister, do not publish.',
                style='Internal Note')
p = d.add_paragraph('Patrols run around the clock')
p.add_run(', 14 of them armed', style='Pending Figure')
p.add_run('.')
d.add_heading('Community', level=1)
p = d.add_paragraph('Crews host open days in the harbour')
p._p.get_or_add_pPr().append(parse_xml(
    f'<w:rPr {nsdecls("w")}><w:del w:id="1" w:author="Reviewer" '
    'w:date="2026-11-20T10:00:00Z"/></w:rPr>'))
d.add_paragraph(' every month, with the band of the ')
body = d.element.body
last = body[-2]
last.append(parse_xml(
    f'<w:r {nsdecls("w")}><w:ruby><w:rubyPr/><w:rt><w:r><w:t>kaigun</w:t></w:r></w:rt>'
    '<w:rubyBase><w:r><w:t>Navy</w:t></w:r></w:rubyBase></w:ruby></w:r>'))
last.append(parse_xml(f'<w:r {nsdecls("w")}><w:t xml:space="preserve">.</w:t></w:r>'))
d.save('factsheet.docx')
