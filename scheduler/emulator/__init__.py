"""A local emulator of the X API v2 and the Facebook Graph API for tests, the demo and
`factpost emulator`: real loopback HTTP that the real tweepy and facebook-sdk can talk to."""

from scheduler.emulator.faults import FAULT_KINDS
from scheduler.emulator.server import Emulator
from scheduler.emulator.standalone import demo_credentials, run_emulator

__all__ = ["FAULT_KINDS", "Emulator", "demo_credentials", "run_emulator"]
