import asyncio

async def say(message, delay):
    await asyncio.sleep(delay)
    print(message)

async def main():
    task1 = asyncio.create_task(say('Hello', 1))
    task2 = asyncio.create_task(say('World', 2))

    await task1
    await task2

asyncio.run(main())
