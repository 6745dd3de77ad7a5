import asyncio

async def main():
    try:
        await asyncio.wait_for(asyncio.sleep(10), timeout=5)
    except asyncio.TimeoutError:
        print('Timeout!')

asyncio.run(main())
