import asyncio

async def main():
    print('Start')
    await asyncio.sleep(1)
    print('End')

asyncio.run(main())
