# A generator left suspended inside `try` when the thread that ran the VM ends: its
# finaliser was queued while the thread's finaliser queue was being destroyed, and each
# drop revived the frame again (a stack overflow).
def g():
    try:
        yield 1
    finally:
        print("finally")


it = g()
print(next(it))
