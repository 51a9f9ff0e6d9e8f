/**
 * The signed-in page's money section: the balances table and the withdrawal form, which the script (browser/money.ts)
 * fills from /dashboard/api/balances and sends.
 */
export const moneySection = `<section id="money" aria-labelledby="money-heading">
      <h2 id="money-heading">Money</h2>
      <div class="table-wrap">
        <table id="balances">
          <caption>Loading the balances…</caption>
          <thead><tr><th scope="col">Token</th><th scope="col">Balance</th><th scope="col">Confirmed</th><th scope="col">Incoming, confirming</th><th scope="col">Outgoing, confirming</th><th scope="col">Refunds requested</th><th scope="col">Withdrawable</th><th scope="col">Fees paid</th></tr></thead>
          <tbody></tbody>
        </table>
      </div>
      <form id="withdraw-form" class="filters">
        <label>Token to withdraw <select name="token" id="withdraw-token"></select></label>
        <label>Amount (empty: all withdrawable) <input name="amount" inputmode="decimal" autocomplete="off"></label>
        <div class="actions"><button type="submit">Withdraw to payout wallet</button></div>
      </form>
      <p id="money-status" role="status" aria-live="polite"></p>
      <div id="withdraw-proposal"></div>
    </section>`;
