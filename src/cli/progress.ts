// Build progress: a bar (cli-progress) on a terminal, one plain line per event otherwise (CI, pipes).

import cliProgress from 'cli-progress';

export interface Progress {
  readonly log: (line: string) => void;
  readonly update: (done: number, total: number, label: string) => void;
  readonly stop: () => void;
}

export function progressReporter(stream: NodeJS.WriteStream): Progress {
  if (!stream.isTTY) {
    return { log: (line) => stream.write(`${line}\n`), update: (done, total, label) => stream.write(`[${done}/${total}] ${label}\n`), stop: () => {} };
  }
  let bar: cliProgress.SingleBar | undefined;
  return {
    log: (line) => (bar ? bar.update({ label: line }) : stream.write(`${line}\n`)),
    update: (done, total, label) => {
      if (!bar) {
        bar = new cliProgress.SingleBar({ stream, format: ' {bar} {value}/{total}  {label}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
        bar.start(total, done, { label });
      } else {
        bar.setTotal(total);
        bar.update(done, { label });
      }
    },
    stop: () => bar?.stop(),
  };
}
