# Builds factsheet.pdf: a body whose lines end inside a year range, a page range, a place-name
# compound and an em-dash aside, as a typesetter breaks them (no hyphenation: the marks are the
# author's own).
from reportlab.pdfgen import canvas
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
pdfmetrics.registerFont(TTFont('DV', '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'))
pdfmetrics.registerFont(TTFont('DVB', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'))
c = canvas.Canvas('factsheet.pdf')
y = 780
c.setFont('DVB', 18); c.drawString(50, y, 'Harbour Task Force'); y -= 40
c.setFont('DVB', 14); c.drawString(50, y, 'Plans'); y -= 24
c.setFont('DV', 11)
for line in ['The mission plan covers the years 2025-',
             '2026, with a budget for 2027\u2013',
             '2028 set out on pages 12\u2013',
             '14 of the Baghdad\u2013',
             'Basra corridor report, and the fleet\u2014',
             'and its crews\u2014stay until then.']:
    c.drawString(50, y, line); y -= 14
c.save()
