"""A local emulator of the platforms factpost publishes to, for tests, the demo and
`factpost emulator`: real loopback HTTP that the real client libraries can talk to.

It ships with the product and stands on its own: of factpost it imports only pure text rules
(`posts`: twitter-text's counting, image sniffing), never the code under test. The platforms'
published facts it needs (X's prices and limits, Meta's Graph versions) are its own copies,
x_pricing.py and graph_versions.py: a double that read the product's tables would agree with
any mistake in them.

    server.py     Emulator: lifecycle, routing, inspection, limits and faults
    doubles.py    the platforms served, one module each (x.py, facebook.py) and their contract
    control.py    the control API for an emulator in another process (/_emulator/...)
    faults.py     faults played on publishing requests
    world.py      what every platform shares: a lock, a clock, images, the bill, the request log
    messages.py, transport.py   HTTP exchanges and the loopback server
"""

from emulator.faults import FAULT_KINDS
from emulator.server import Emulator

__all__ = ["FAULT_KINDS", "Emulator"]
