import asyncio

lock = asyncio.Lock()

async def task(id):
    async with lock:
        print(f'Task {id} is running')
        await asyncio.sleep(1)

async def main():
    await asyncio.gather(task(1), task(2), task(3))

asyncio.run(main())
