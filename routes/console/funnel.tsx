/**
 * The send funnel as a server-rendered SVG bar chart: targeted → attempted → accepted →
 * delivered → opened, each bar scaled to the targeted count, with its number beside it.
 *
 * @module
 */
import type { SendViewData } from "../../lib/sends/mod.ts";
import { count } from "./words.ts";

const STAGES = [
  ["targeted", "Targeted"],
  ["attempted", "Attempted"],
  ["accepted", "Accepted"],
  ["delivered", "Delivered"],
  ["opened", "Opened"],
] as const;

const ROW = 34;
const LABEL_W = 92;
const BAR_W = 420;

/** The funnel chart of a send. */
export function FunnelChart(props: { counts: SendViewData["counts"] }) {
  const { counts } = props;
  const top = Math.max(1, counts.targeted);
  const height = STAGES.length * ROW + 8;
  const summary = STAGES.map(([key, label]) => `${label} ${counts[key]}`).join(", ");
  return (
    <svg
      class="funnel"
      viewBox={`0 0 ${LABEL_W + BAR_W + 90} ${height}`}
      role="img"
      aria-label={`Funnel: ${summary}`}
    >
      <title>Funnel: {summary}</title>
      {STAGES.map(([key, label], i) => {
        const value = counts[key];
        const width = Math.max(value > 0 ? 2 : 0, Math.round((value / top) * BAR_W));
        const y = 4 + i * ROW;
        return (
          <g data-stage={key} data-value={value}>
            <text x="0" y={y + 20}>{label}</text>
            <rect x={LABEL_W} y={y + 4} width={BAR_W} height="22" fill="#eef1f4" rx="3" />
            <rect x={LABEL_W} y={y + 4} width={width} height="22" fill="#0b5cad" rx="3" />
            <text x={LABEL_W + BAR_W + 8} y={y + 20}>{count(value)}</text>
          </g>
        );
      })}
    </svg>
  );
}
