import asyncio

async def task():
    await asyncio.sleep(10)

async def main():
    task_obj = asyncio.create_task(task())
    await asyncio.sleep(1)
    task_obj.cancel()
    try:
        await task_obj
    except asyncio.CancelledError:
        print("Task was cancelled")

asyncio.run(main())
