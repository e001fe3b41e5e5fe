package main

import (
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/cmd/countersign/config"
)

// botKind is the bot's typed kind of a config service kind (bot does not
// import config). The config was validated: an unknown kind cannot reach
// here, and would be refused by the wiring's own switch.
func botKind(kind string) bot.ServiceKind {
	return map[string]bot.ServiceKind{
		config.KindSwarm: bot.KindSwarm, config.KindAlbatross: bot.KindAlbatross, config.KindBuild: bot.KindBuild,
	}[kind]
}

// botBuildMode is the bot's typed build mode of a config one.
func botBuildMode(mode string) bot.BuildMode {
	return map[string]bot.BuildMode{config.BuildWait: bot.BuildWait, config.BuildDocker: bot.BuildDocker}[mode]
}
