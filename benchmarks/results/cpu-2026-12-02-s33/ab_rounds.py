import subprocess, sys, statistics, collections, re
bins = sys.argv[1].split(',')
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
only = sys.argv[3:] 
res = collections.defaultdict(list)
for r in range(rounds):
    for b in bins:
        import os
        env = dict(os.environ)
        exe = b
        if ':' in b:
            kv, exe = b.split(':')
            k, v = kv.split('=')
            env[k] = v
        out = subprocess.run([exe] + only, capture_output=True, text=True, env=env).stdout.splitlines()
        for line in out[-3:]:
            dt = line.split()[0]
            cells = re.findall(r"([\d.]+) / ([\d.]+) \((\d+)%\)|(-)", line)
            for lay, c in zip(['pal', 'nhd', 'hnd'], cells):
                if c[0]:
                    res[(b, dt, lay)].append((float(c[0]), float(c[1]), float(c[0]) / float(c[1])))
print(f"{'binary':>22} {'dtype':>9} " + " ".join(f"{l:>24}" for l in ['pal', 'nhd', 'hnd']))
for b in bins:
    for dt in ['float32', 'bfloat16', 'float16']:
        cells = []
        for lay in ['pal', 'nhd', 'hnd']:
            v = res[(b, dt, lay)]
            if not v:
                cells.append('-'); continue
            dec = statistics.median(x[0] for x in v)
            rat = sorted(x[2] for x in v)
            cells.append(f"{dec:5.1f} {100*statistics.median(rat):3.0f}% [{100*rat[0]:.0f}-{100*rat[-1]:.0f}]")
        print(f"{b.split('/')[-1][-22:]:>22} {dt:>9} " + " ".join(f"{c:>24}" for c in cells))
