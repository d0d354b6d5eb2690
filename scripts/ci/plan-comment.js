// One pull-request comment per stack, updated on every push (found by a hidden marker), folded
// when long, and cut under GitHub's 65,536-character limit with a link to the full plan.
const fs = require('fs');

const LIMIT = 65536;
const FOLD_OVER = 4000;

module.exports = async ({ github, context, stack, exitcode }) => {
  const marker = `<!-- ssm-keeper-plan:${stack} -->`;
  const runUrl = `${context.serverUrl}/${context.repo.owner}/${context.repo.repo}/actions/runs/${context.runId}`;
  let plan = fs.readFileSync(`plan-${stack}.md`, 'utf8');
  const verdict = exitcode === '2' ? 'changes to apply' : 'no changes';
  const head = `${marker}\n**ssm-keeper plan** for \`${stack}\`: ${verdict} ([run](${runUrl}), full plan in the artifact \`plan-${stack}\`)\n\n`;
  const note = `\n\n_The plan was cut to fit a comment: download the artifact \`plan-${stack}\` from [the run](${runUrl}) for all of it._`;
  const budget = LIMIT - head.length - note.length - 200;
  let cut = false;
  if (plan.length > budget) {
    plan = plan.slice(0, budget);
    cut = true;
  }
  let body = plan.length > FOLD_OVER
    ? `${head}<details><summary>Show the plan</summary>\n\n${plan}\n\n</details>`
    : `${head}${plan}`;
  if (cut) body += note;

  const { owner, repo } = context.repo;
  const issue_number = context.issue.number;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number });
  const mine = comments.find((c) => c.body && c.body.startsWith(marker));
  if (mine) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
  } else {
    await github.rest.issues.createComment({ owner, repo, issue_number, body });
  }
};
