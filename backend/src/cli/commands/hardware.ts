/** `trainyard hardware`: profiles with price and live availability (fits now / will queue / will queue: scale-up expected / cannot fit). */
import type { Command } from 'commander';
import type { CliDeps } from '../deps';
import { isJson, printJson, withJson } from '../kit';
import { money, statusText, table } from '../output';

export function register(program: Command, deps: CliDeps): void {
  withJson(program.command('hardware').description('list hardware profiles with price and availability')).action(
    async (_opts: unknown, cmd: Command) => {
      const res = await deps.client().listHardware();
      if (isJson(cmd)) return printJson(deps, res);
      const rows = res.items.map((h) => [
        h.name,
        String(h.cpu),
        h.memory,
        h.gpu && h.gpu.count > 0 ? `${h.gpu.count}× ${h.gpu.type}` : '-',
        `${money(h.pricePerHour)}/h`,
        statusText(h.availability.scaleUp ? 'will-queue: scale-up expected' : h.availability.status, deps.st),
        String(h.availability.slots),
        h.availability.reason,
      ]);
      for (const l of table(['name', 'cpu', 'memory', 'gpu', 'price', 'availability', 'slots', 'reason'], rows, deps.st)) deps.out(l);
    },
  );
}
