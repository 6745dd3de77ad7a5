import asyncio

async def say(message, delay):
    await asyncio.sleep(delay)
    return message

async def main():
    result = await asyncio.gather(say('Hello', 1), say('World', 2))
    print(result)

asyncio.run(main())
