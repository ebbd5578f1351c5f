"""A local emulator of the platforms factpost publishes to, for tests, the demo and
`factpost emulator`: real loopback HTTP that the real client libraries can talk to.

It ships with the product and stands on its own: it imports nothing of factpost but pure text
rules (`posts`) and the platforms' published facts (scheduler/platforms/x_terms.py,
facebook_versions.py), never the code under test.

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
