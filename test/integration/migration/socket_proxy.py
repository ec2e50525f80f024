#!/usr/bin/env python3
"""Forwards a unix socket to a node's Podman socket, so that a test can make
the socket vanish in the middle of a call: killing this process breaks every
connection through it, and new ones are refused until it runs again.

    socket_proxy.py LISTEN_PATH TARGET_PATH
"""
import asyncio
import os
import sys


async def pump(reader, writer):
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def serve(listen, target):
    async def handle(client_reader, client_writer):
        try:
            podman_reader, podman_writer = await asyncio.open_unix_connection(target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, podman_writer), pump(podman_reader, client_writer))
        podman_writer.close()
        client_writer.close()

    if os.path.exists(listen):
        os.unlink(listen)
    server = await asyncio.start_unix_server(handle, path=listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: socket_proxy.py LISTEN_PATH TARGET_PATH")
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
