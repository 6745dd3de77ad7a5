def outer():
    x = 1
    def mid():
        global x
        def h():
            nonlocal x
            x = 3
        h()
    mid()
