# hypercsc learn (dictionary learning command)
