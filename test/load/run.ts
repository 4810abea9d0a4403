// npm run load [-- --rate N --seconds S --domains D]: the long load run; prints the report as JSON.
import { runLoad } from './load';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

void (async () => {
  const seconds = arg('seconds', 60);
  const report = await runLoad({
    ratePerSecond: arg('rate', 2000),
    seconds,
    domains: arg('domains', 1000),
    stopAt: seconds * 0.3,
    restartAt: seconds * 0.6,
  });
  console.log(JSON.stringify(report, null, 2));
  process.exitCode = report.lost === 0 && report.duplicated === 0 ? 0 : 1;
})();
