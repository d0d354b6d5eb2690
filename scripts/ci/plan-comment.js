// One sticky pull-request comment per stack, updated on every push (found by a hidden marker):
// the plan, folded when long and cut under GitHub's 65,536-character limit with a link to the
// full plan; or, when the plan failed (or never ran: the build or the role failed), that
// failure and the end of its error output, so that an old verdict never stays.
const fs = require('fs');

const LIMIT = 65536;
const FOLD_OVER = 4000;
const ERROR_TAIL = 6000;

function read(path) {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

// The comment's text after its heading, and the heading's verdict.
function verdictAndPlan({ stack, exitcode, runUrl }) {
  if (exitcode === '0' || exitcode === '2') {
    const verdict = exitcode === '2' ? 'changes to apply' : 'no changes';
    return { verdict, plan: read(`plan-${stack}.md`), failed: false };
  }
  const error = read(`plan-${stack}.err`).trim();
  const why = exitcode
    ? `\`ssm-keeper plan\` failed (exit code ${exitcode}).`
    : 'the plan did not run: the build or the read-only role failed before it.';
  let plan = `:x: ${why} See [the run](${runUrl}); fix the cause and push again.`;
  if (error) plan += `\n\n\`\`\`\n${error.slice(-ERROR_TAIL)}\n\`\`\``;
  return { verdict: '**failed**', plan, failed: true };
}

function body({ marker, stack, runUrl, verdict, plan, failed }) {
  const artifact = failed ? '' : `, full plan in the artifact \`plan-${stack}\``;
  const head = `${marker}\n**ssm-keeper plan** for \`${stack}\`: ${verdict} ([run](${runUrl})${artifact})\n\n`;
  const note = `\n\n_The plan was cut to fit a comment: download the artifact \`plan-${stack}\` from [the run](${runUrl}) for all of it._`;
  const budget = LIMIT - head.length - note.length - 200;
  const cut = plan.length > budget;
  if (cut) plan = plan.slice(0, budget);
  let text = !failed && plan.length > FOLD_OVER
    ? `${head}<details><summary>Show the plan</summary>\n\n${plan}\n\n</details>`
    : `${head}${plan}`;
  if (cut) text += note;
  return text;
}

module.exports = async ({ github, context, stack, exitcode }) => {
  const marker = `<!-- ssm-keeper-plan:${stack} -->`;
  const runUrl = `${context.serverUrl}/${context.repo.owner}/${context.repo.repo}/actions/runs/${context.runId}`;
  const text = body({ marker, stack, runUrl, ...verdictAndPlan({ stack, exitcode, runUrl }) });

  const { owner, repo } = context.repo;
  const issue_number = context.issue.number;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number });
  const mine = comments.find((c) => c.body && c.body.startsWith(marker));
  if (mine) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: text });
  } else {
    await github.rest.issues.createComment({ owner, repo, issue_number, body: text });
  }
};
