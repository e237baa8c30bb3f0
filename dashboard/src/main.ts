// The live quota page (GET /dashboard). Everything on it comes from one graphql-ws subscription to
// Subscription.quotaStatus; the page itself never spends quota in reaction to what it shows.
import './styles.css';
import { createUsageChart } from './chart';
import { connectQuota, type ConnectionState, type QuotaConnection } from './connection';
import { formatClock, formatDateTime, formatDecimal, formatInt, formatRelative } from './format';
import { decodeClaims, loadToken, normaliseToken, saveToken, takeTokenFromHash } from './token';
import type { OperationUsage, QuotaStatus } from './types';

/** Relative times ("in 12 min") are redrawn this often between events. @default 10 s */
const RELATIVE_TICK_MS = 10_000;

function byTestId<T extends Element = HTMLElement>(id: string): T {
  const found = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!found) throw new Error(`dashboard: element [data-testid="${id}"] is missing from index.html`);
  return found;
}

const view = {
  state: byTestId('connection-state'),
  closeReason: byTestId('close-reason'),
  eventError: byTestId('event-error'),
  tenant: byTestId('tenant'),
  plan: byTestId('plan'),
  tokenPanel: byTestId<HTMLDetailsElement>('token-panel'),
  tokenForm: byTestId<HTMLFormElement>('token-form'),
  tokenInput: byTestId<HTMLInputElement>('token-input'),
  tokenInfo: byTestId('token-info'),
  forget: byTestId<HTMLButtonElement>('forget-token'),
  remaining: byTestId('remaining'),
  meter: byTestId('remaining-meter'),
  bar: byTestId('remaining-bar'),
  used: byTestId('used'),
  limit: byTestId('limit'),
  burnRate: byTestId('burn-rate'),
  restoreRate: byTestId('restore-rate'),
  projected: byTestId('projected-exhaustion'),
  projectedRelative: byTestId('projected-exhaustion-relative'),
  resetsAt: byTestId('resets-at'),
  resetsAtRelative: byTestId('resets-at-relative'),
  operations: byTestId<HTMLTableElement>('recent-operations'),
  updatedAt: byTestId('updated-at'),
};
const chart = createUsageChart(byTestId<SVGSVGElement>('usage-chart'));

let token = takeTokenFromHash(location, history) ?? loadToken();
let connection: QuotaConnection | undefined;
let latest: QuotaStatus | undefined;
let tenantFromServer: string | undefined;

const STATE_LABEL: Record<ConnectionState['kind'], string> = {
  idle: 'no token',
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
  closed: 'closed',
};

/** Sets a number's text for people and its raw value (data-value) for tests and scrapers. */
function showNumber(target: HTMLElement, value: number, text = formatInt(value)) {
  target.textContent = text;
  target.dataset.value = String(value);
}

function renderState(state: ConnectionState) {
  document.body.dataset.state = state.kind;
  renderTenant();
  view.state.textContent = state.kind === 'reconnecting' ? `${STATE_LABEL[state.kind]} (attempt ${state.attempt})` : STATE_LABEL[state.kind];
  view.state.dataset.state = state.kind;
  switch (state.kind) {
    case 'idle':
    case 'connecting':
      view.closeReason.hidden = true;
      break;
    case 'live':
      view.closeReason.hidden = true;
      tenantFromServer = state.tenant;
      view.tokenPanel.open = false;
      renderTenant();
      break;
    case 'reconnecting':
      view.closeReason.hidden = false;
      view.closeReason.textContent = `Reconnecting: ${state.reason}. The figures below are from ${latest ? 'the last update' : 'nowhere yet'}.`;
      break;
    case 'closed':
      view.closeReason.hidden = false;
      view.closeReason.textContent = `Closed: ${state.reason}`;
      view.closeReason.dataset.code = state.code === undefined ? '' : String(state.code);
      view.tokenPanel.open = true;
      break;
    default: {
      const unreachable: never = state;
      throw new Error(`unknown connection state ${JSON.stringify(unreachable)}`);
    }
  }
}

function renderTenant() {
  const claims = token ? decodeClaims(token) : undefined;
  // The server's word (connection_ack) over the token's claim, which the page cannot verify.
  view.tenant.textContent = tenantFromServer ?? claims?.tenant ?? 'no tenant';
  view.plan.hidden = !latest;
  if (latest) view.plan.textContent = latest.plan;
  const parts: string[] = [];
  if (claims?.tenant) parts.push(`Token for ${claims.tenant}`);
  if (claims?.subject) parts.push(`as ${claims.subject}`);
  if (claims?.expiresAt) parts.push(`${claims.expiresAt > Date.now() ? 'expires' : 'expired'} ${formatRelative(claims.expiresAt)} (${formatDateTime(new Date(claims.expiresAt).toISOString())})`);
  view.tokenInfo.textContent = parts.length ? `${parts.join(' ')}. Kept in this tab only (sessionStorage).` : 'Kept in this tab only (sessionStorage). The page sends it to this gateway and nowhere else.';
}

function renderRelativeTimes() {
  if (!latest) return;
  view.resetsAtRelative.textContent = formatRelative(latest.resetsAt);
  view.projectedRelative.textContent = latest.projectedExhaustionAt
    ? `${formatRelative(latest.projectedExhaustionAt)} at the current burn rate`
    : latest.burnRatePerMinute > 0
      ? 'the budget outlasts the month at the current burn rate'
      : 'nothing spent in the last 5 minutes';
}

function operationRow(operation: OperationUsage): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset.testid = 'operation-row';
  const cell = (text: string, className?: string) => {
    const td = row.insertCell();
    // textContent only: operation names are whatever any client of the tenant sent.
    td.textContent = text;
    if (className) td.className = className;
    return td;
  };
  cell(formatClock(operation.at), 'time');
  cell(operation.operationName ?? 'anonymous', operation.operationName ? 'name' : 'name anonymous').dataset.testid = 'operation-name';
  cell(formatInt(operation.cost), 'num').dataset.testid = 'operation-cost';
  cell(`${formatDecimal(operation.latencyMs)} ms`, 'num');
  const outcome = cell('', 'outcome');
  const badge = document.createElement('span');
  badge.className = operation.outcome === 'ok' ? 'badge ok' : 'badge error';
  badge.textContent = operation.outcome;
  outcome.append(badge);
  return row;
}

function renderOperations(operations: readonly OperationUsage[]) {
  const body = view.operations.tBodies[0] ?? view.operations.createTBody();
  if (operations.length === 0) {
    const row = document.createElement('tr');
    row.className = 'empty';
    const td = row.insertCell();
    td.colSpan = 5;
    td.textContent = 'no operations yet';
    body.replaceChildren(row);
    return;
  }
  body.replaceChildren(...operations.map(operationRow));
}

function renderStatus(status: QuotaStatus) {
  latest = status;
  view.eventError.hidden = true;
  showNumber(view.remaining, status.remaining);
  showNumber(view.used, status.used);
  showNumber(view.limit, status.limit);
  const percent = status.limit > 0 ? Math.max(0, Math.min(100, (status.remaining / status.limit) * 100)) : 0;
  // CSSOM, not a style attribute: the page's CSP (style-src 'self') forbids inline style attributes.
  view.bar.style.width = `${percent}%`;
  view.meter.setAttribute('aria-valuenow', percent.toFixed(1));
  view.meter.setAttribute('aria-valuetext', `${formatInt(status.remaining)} of ${formatInt(status.limit)} left`);
  view.meter.dataset.level = percent <= 10 ? 'critical' : percent <= 25 ? 'low' : 'ok';
  showNumber(view.burnRate, status.burnRatePerMinute, formatDecimal(status.burnRatePerMinute));
  showNumber(view.restoreRate, status.restoreRate, formatDecimal(status.restoreRate));
  view.projected.textContent = status.projectedExhaustionAt ? formatDateTime(status.projectedExhaustionAt) : 'not before reset';
  view.projected.dataset.value = status.projectedExhaustionAt ?? '';
  view.projected.title = status.projectedExhaustionAt ?? '';
  view.resetsAt.textContent = formatDateTime(status.resetsAt);
  view.resetsAt.dataset.value = status.resetsAt;
  view.resetsAt.title = status.resetsAt;
  renderRelativeTimes();
  renderTenant();
  chart.update(status.usageByMinute);
  renderOperations(status.recentOperations);
  const now = Date.now();
  view.updatedAt.textContent = formatClock(now);
  view.updatedAt.dataset.value = new Date(now).toISOString();
  document.title = `${formatInt(status.remaining)} left · ${view.tenant.textContent} · Quota dashboard`;
}

/** Blanks every figure: after a token change, the last tenant's numbers must not stand under the new name. */
function clearFigures() {
  for (const target of [view.remaining, view.used, view.limit, view.burnRate, view.restoreRate, view.projected, view.resetsAt]) {
    target.textContent = '–';
    target.dataset.value = '';
  }
  view.bar.style.width = '0%';
  view.meter.removeAttribute('aria-valuenow');
  view.projectedRelative.textContent = 'at the current burn rate';
  view.resetsAtRelative.textContent = 'start of next month (UTC)';
  view.eventError.hidden = true;
  chart.update([]);
  renderOperations([]);
  view.updatedAt.textContent = 'never';
  view.updatedAt.dataset.value = '';
  document.title = 'Quota dashboard · tenancy-graph';
}

function socketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
}

function start() {
  connection?.close();
  connection = undefined;
  latest = undefined;
  tenantFromServer = undefined;
  clearFigures();
  renderTenant();
  if (!token) {
    renderState({ kind: 'idle' });
    view.tokenPanel.open = true;
    return;
  }
  connection = connectQuota({
    url: socketUrl(),
    token: () => token,
    onState: renderState,
    onStatus: renderStatus,
    onEventError(message) {
      view.eventError.hidden = false;
      view.eventError.textContent = `The last update carried errors: ${message}`;
    },
  });
}

function useToken(next: string | undefined) {
  token = next;
  saveToken(next);
  start();
}

view.tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  // An empty field reconnects with the token the page already holds (after the server ended the stream).
  const next = normaliseToken(view.tokenInput.value) ?? token;
  view.tokenInput.value = '';
  if (next) useToken(next);
});
view.forget.addEventListener('click', () => useToken(undefined));
// A second ready-made link (#token=...) opened in the same tab switches to that token.
window.addEventListener('hashchange', () => {
  const next = takeTokenFromHash(location, history);
  if (next) useToken(next);
});
setInterval(() => {
  renderRelativeTimes();
  renderTenant();
}, RELATIVE_TICK_MS);

saveToken(token);
start();
