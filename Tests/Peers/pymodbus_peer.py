#!/usr/bin/env python3
"""Independent Modbus TCP (and optionally RTU) server peer for the tests of Soleus's Modbus client.

It runs on pymodbus 3.16.1 (an implementation independent of libmodbus) in the venv that
scripts/peer-venv creates:

    py=$(scripts/peer-venv)
    "$py" Tests/Peers/pymodbus_peer.py --port PORT --state FILE \
        [--pressure-raw V0,V1,V2,V3] [--rtu DEVICE --baud B [--parity N|E|O]] [--exit-on-eof] [--debug]

Register map (wire addresses, 0-based):
  unit 7  relay module: coils 100..107 (FC01 read, FC05 and FC15 write).
          Other function codes -> exception 1, addresses outside 100..107 -> exception 2.
  unit 9  analog module: the 4 raw pressures at 200..203 as holding registers (FC03) and the same
          values as input registers (FC04). Other function codes (writes included) -> exception 1,
          addresses outside 200..203 -> exception 2.
  other   left to pymodbus: it answers exception 4 (slave device failure), also over RTU.

Behaviour a test relies on:
  - The TCP server binds 127.0.0.1:PORT (PORT 0 picks a free port). Once it (and the RTU port, if
    any) is open, stdout gets exactly one line "READY <port>" with the real port.
  - FILE is written at start and rewritten after every accepted coil write (FC05/FC15 to unit 7),
    before the reply is sent, atomically (temp file + rename), as
    {"coils": [c100, ..., c107], "writes": N} with booleans and N the number of accepted coil
    writes so far (a write that leaves the coils unchanged still counts and rewrites FILE).
  - SIGTERM and SIGINT stop it cleanly with exit status 0.

Control lines on stdin (each answered on stdout by "OK <line>" once applied, or "ERROR <why>"):
  pressure-raw a,b,c,d   new raw values for unit 9's registers 200..203 (0..65535)
  slow SECONDS           every later reply is sent SECONDS after its request was processed
                         (0 turns it off); writes take effect at once, only the reply is late
  exceptions on|off      unit 9 answers every request with exception 4 (slave device failure)
EOF on stdin is ignored unless --exit-on-eof is given (then it stops as on SIGTERM).

Why it replaces pymodbus's request dispatch (ServerRequestHandler.handle_request) but nothing
else (framing, PDU decoding and encoding, datastore stay pymodbus's): in 3.16.1 the handler reads
the connection's *latest* request after its await, so when a reply is delayed and the client sends
another request meanwhile, the old reply goes out stamped with the new transaction id (and the
latest request may be served twice). This peer pairs every reply with its own request.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import sys
import tempfile
import threading
from typing import Any

PYMODBUS_VERSION = "3.16.1"

try:
    import pymodbus
    from pymodbus import ExceptionResponse, FramerType, pymodbus_apply_logging_config
    from pymodbus.constants import ExcCodes
    from pymodbus.server import ModbusSerialServer, ModbusTcpServer
    from pymodbus.server.requesthandler import ServerRequestHandler
    from pymodbus.simulator import DataType, SimData, SimDevice
except ImportError as error:  # pragma: no cover - depends on the environment
    sys.exit(f"pymodbus_peer: cannot import pymodbus {PYMODBUS_VERSION} ({error}); "
             "run it with the python that scripts/peer-venv prints")

if pymodbus.__version__ != PYMODBUS_VERSION:
    sys.exit(f"pymodbus_peer: needs pymodbus {PYMODBUS_VERSION} (the request handler below "
             f"follows its internals), found {pymodbus.__version__}")

RELAY_UNIT, COIL_FIRST, COIL_COUNT = 7, 100, 8
ANALOG_UNIT, REGISTER_FIRST, REGISTER_COUNT = 9, 200, 4
DEFAULT_PRESSURE_RAW = [13824] * REGISTER_COUNT

READ_COILS, WRITE_COIL, WRITE_COILS = 1, 5, 15
READ_HOLDING, READ_INPUT, WRITE_REGISTERS = 3, 4, 16


def log(message: str) -> None:
    print(f"pymodbus_peer: {message}", file=sys.stderr, flush=True)


def parse_raw_values(text: str) -> list[int]:
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != REGISTER_COUNT:
        raise ValueError(f"expected {REGISTER_COUNT} comma-separated values, got {len(parts)}")
    values = [int(part) for part in parts]  # decimal only
    if not all(0 <= value <= 0xFFFF for value in values):
        raise ValueError("each value must be within 0..65535")
    return values


def raw_values_argument(text: str) -> list[int]:
    try:
        return parse_raw_values(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from error


def build_devices(pressure_raw: list[int]) -> list[SimDevice]:
    """The register map, in pymodbus 3.16's SimDevice/SimData model (its ModbusDeviceContext and
    ModbusSequentialDataBlock are deprecated shims onto it; SimData addresses are wire addresses)."""
    relay = SimDevice(
        id=RELAY_UNIT,
        # Separate blocks (coils, discrete inputs, holding, input): coils are then addressed by bit.
        # Every block needs at least one entry; the spare ones are never reached because the
        # peer answers exception 1 for their function codes first.
        simdata=(
            [SimData(COIL_FIRST, values=[False] * COIL_COUNT, datatype=DataType.BITS)],
            [SimData(0, values=[False], datatype=DataType.BITS)],
            [SimData(0, datatype=DataType.INVALID)],
            [SimData(0, datatype=DataType.INVALID)],
        ),
    )
    analog = SimDevice(
        id=ANALOG_UNIT,
        # One shared block: FC03 and FC04 read the same registers 200..203.
        simdata=[SimData(REGISTER_FIRST, values=list(pressure_raw), datatype=DataType.REGISTERS)],
    )
    return [relay, analog]


class Peer:
    """Map policy, state file and stdin controls, shared by the TCP and RTU servers."""

    def __init__(self, state_path: str) -> None:
        self.state_path = os.path.abspath(state_path)
        self.context: Any = None  # pymodbus's datastore (SimCore), shared by both servers
        self.writes = 0
        self.slow = 0.0
        self.exceptions = False
        self.tasks: set[asyncio.Task] = set()

    # -- map policy -------------------------------------------------------------------------
    @staticmethod
    def span(pdu) -> tuple[int, int]:
        if pdu.function_code == WRITE_COIL:
            return pdu.address, 1
        return pdu.address, pdu.count

    def refuse(self, pdu) -> ExcCodes | None:
        """The exception this peer answers before pymodbus's datastore, if any."""
        unit, function = pdu.dev_id, pdu.function_code
        if unit == RELAY_UNIT:
            functions, first, count = (READ_COILS, WRITE_COIL, WRITE_COILS), COIL_FIRST, COIL_COUNT
        elif unit == ANALOG_UNIT:
            if self.exceptions:
                return ExcCodes.DEVICE_FAILURE
            functions, first, count = (READ_HOLDING, READ_INPUT), REGISTER_FIRST, REGISTER_COUNT
        else:
            return None  # not in the map: pymodbus decides
        if function not in functions:
            return ExcCodes.ILLEGAL_FUNCTION
        address, quantity = self.span(pdu)
        if address < first or address + quantity > first + count:
            return ExcCodes.ILLEGAL_ADDRESS
        return None

    async def execute(self, pdu):
        """Run one request; mirrors pymodbus 3.16.1's ServerRequestHandler.handle_request for
        everything the map does not cover (an unknown unit makes its datastore raise, which it
        turns into exception 4)."""
        if (code := self.refuse(pdu)) is not None:
            return ExceptionResponse(pdu.function_code, code)
        try:
            response = await pdu.datastore_update(self.context, pdu.dev_id)
        except Exception as error:  # pylint: disable=broad-except
            log(f"pymodbus could not serve unit {pdu.dev_id} function {pdu.function_code} "
                f"({type(error).__name__}: {error}); answering exception 4 as pymodbus does")
            return ExceptionResponse(pdu.function_code, ExcCodes.DEVICE_FAILURE)
        if (pdu.dev_id == RELAY_UNIT and pdu.function_code in (WRITE_COIL, WRITE_COILS)
                and not response.isError()):
            self.writes += 1
            await self.save_state()
        return response

    async def serve(self, handler: ServerRequestHandler, pdu, addr) -> None:
        try:
            response = await self.execute(pdu)
        except Exception as error:  # pylint: disable=broad-except
            log(f"failed on unit {pdu.dev_id} function {pdu.function_code}: {error!r}")
            response = ExceptionResponse(pdu.function_code, ExcCodes.DEVICE_FAILURE)
        if self.slow > 0:
            await asyncio.sleep(self.slow)
        response.transaction_id = pdu.transaction_id
        response.dev_id = pdu.dev_id
        if handler.transport:  # the client may have gone while the reply was delayed
            handler.server_send(response, addr)

    # -- state file -------------------------------------------------------------------------
    async def coils(self) -> list[bool]:
        values = await self.context.async_getValues(RELAY_UNIT, READ_COILS, COIL_FIRST, COIL_COUNT)
        if not isinstance(values, list):
            raise RuntimeError(f"reading back the coils gave {values!r}")
        return [bool(value) for value in values]

    async def save_state(self) -> None:
        state = {"coils": await self.coils(), "writes": self.writes}
        directory = os.path.dirname(self.state_path)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".pymodbus_peer.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as file:
                json.dump(state, file)
                file.write("\n")
            os.replace(temporary, self.state_path)
        except BaseException:
            os.unlink(temporary)
            raise

    # -- stdin controls ---------------------------------------------------------------------
    async def control(self, line: str) -> str:
        words = line.split()
        if not words:
            return ""
        command, arguments = words[0], words[1:]
        try:
            if command == "pressure-raw" and len(arguments) == 1:
                values = parse_raw_values(arguments[0])
                if error := await self.context.async_setValues(
                        ANALOG_UNIT, WRITE_REGISTERS, REGISTER_FIRST, values):
                    raise RuntimeError(f"pymodbus refused the values ({error!r})")
            elif command == "slow" and len(arguments) == 1:
                seconds = float(arguments[0])
                if not 0 <= seconds < 3600:
                    raise ValueError("SECONDS must be within 0..3600")
                self.slow = seconds
            elif command == "exceptions" and arguments in (["on"], ["off"]):
                self.exceptions = arguments[0] == "on"
            else:
                raise ValueError("expected 'pressure-raw a,b,c,d', 'slow SECONDS' "
                                 "or 'exceptions on|off'")
        except ValueError as error:
            return f"ERROR {line.strip()}: {error}"
        return f"OK {' '.join(words)}"


class PeerRequestHandler(ServerRequestHandler):
    """pymodbus's connection handler with its request dispatch replaced (see the module notes).

    pymodbus decodes each frame in callback_data, keeps it in self.last_pdu and schedules exactly
    one handle_later for it; the request is captured there, so each reply keeps its own request."""

    def __init__(self, owner, *args) -> None:
        super().__init__(owner, *args)
        self.peer: Peer = owner.peer
        self.requests: collections.deque = collections.deque()

    def callback_data(self, data: bytes, addr: tuple | None = None) -> int:
        used = super().callback_data(data, addr)
        if self.last_pdu is not None:
            self.requests.append((self.last_pdu, self.last_addr))
        return used

    def handle_later(self) -> None:
        pdu, addr = self.requests.popleft()
        task = asyncio.ensure_future(self.peer.serve(self, pdu, addr))
        self.peer.tasks.add(task)
        task.add_done_callback(self.peer.tasks.discard)


class PeerTcpServer(ModbusTcpServer):
    peer: Peer

    def callback_new_connection(self):
        return PeerRequestHandler(self, self.trace_packet, self.trace_pdu, self.trace_connect)


class PeerSerialServer(ModbusSerialServer):
    peer: Peer

    def callback_new_connection(self):
        return PeerRequestHandler(self, self.trace_packet, self.trace_pdu, self.trace_connect)


def read_stdin(loop: asyncio.AbstractEventLoop, peer: Peer, stop: asyncio.Event,
               exit_on_eof: bool) -> None:
    """Runs on a daemon thread: stdin may be a pipe, a terminal, a file or /dev/null."""
    for line in sys.stdin:
        future = asyncio.run_coroutine_threadsafe(peer.control(line), loop)
        try:
            answer = future.result()
        except Exception as error:  # pylint: disable=broad-except
            answer = f"ERROR {line.strip()}: {error}"
        if answer:
            print(answer, flush=True)
    if exit_on_eof:
        loop.call_soon_threadsafe(stop.set)


async def run(options: argparse.Namespace) -> int:
    if options.debug:
        pymodbus_apply_logging_config("DEBUG")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    peer = Peer(options.state)
    PeerTcpServer.peer = PeerSerialServer.peer = peer
    servers = []
    tcp = PeerTcpServer(build_devices(options.pressure_raw), address=("127.0.0.1", options.port))
    servers.append(tcp)
    peer.context = tcp.context
    try:
        await peer.save_state()
        await tcp.serve_forever(background=True)
        port = tcp.transport.sockets[0].getsockname()[1]
        if options.rtu:
            rtu = PeerSerialServer(
                build_devices(options.pressure_raw), framer=FramerType.RTU, port=options.rtu,
                baudrate=options.baud, parity=options.parity, bytesize=8, stopbits=1)
            rtu.context = peer.context  # each server builds its own datastore: share the TCP one
            servers.append(rtu)
            await rtu.serve_forever(background=True)
    except (OSError, RuntimeError) as error:
        log(f"cannot start: {error}")
        for server in servers:
            await server.shutdown()
        return 1

    print(f"READY {port}", flush=True)
    threading.Thread(target=read_stdin, args=(loop, peer, stop, options.exit_on_eof),
                     name="stdin", daemon=True).start()
    await stop.wait()
    for server in servers:
        await server.shutdown()
    for task in list(peer.tasks):
        task.cancel()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True,
                        help="TCP port on 127.0.0.1 (0 picks a free one; READY says which)")
    parser.add_argument("--state", required=True, help="JSON file of the coils and write count")
    parser.add_argument("--pressure-raw", type=raw_values_argument, default=DEFAULT_PRESSURE_RAW,
                        metavar="V0,V1,V2,V3",
                        help="raw values of unit 9's registers 200..203 (default 13824 each)")
    parser.add_argument("--rtu", metavar="DEVICE", help="also serve Modbus RTU on this serial device")
    parser.add_argument("--baud", type=int, default=19200, help="RTU baud rate (default 19200)")
    parser.add_argument("--parity", choices=("N", "E", "O"), default="N",
                        help="RTU parity (default N; 8 data bits, 1 stop bit)")
    parser.add_argument("--exit-on-eof", action="store_true",
                        help="stop when stdin reaches end of file")
    parser.add_argument("--debug", action="store_true", help="pymodbus debug log on stderr")
    options = parser.parse_args()
    if not 0 <= options.port <= 65535:
        parser.error("--port must be within 0..65535")
    return asyncio.run(run(options))


if __name__ == "__main__":
    sys.exit(main())
