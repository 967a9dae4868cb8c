const chalk = require("chalk");
const ms = require("ms");

console.log(chalk.green(`weir installed this; ${ms(90 * 60 * 1000, { long: true })} well spent`));
