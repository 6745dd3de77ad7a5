import asyncio

class AsyncGen:
    async def __aiter__(self):
        for i in range(5):
            await asyncio.sleep(1)
            yield i

async def main():
    async for item in AsyncGen():
        print(item)

asyncio.run(main())
